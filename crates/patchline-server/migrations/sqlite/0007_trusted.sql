-- Trusted images, governed: the requester's justification is kept beside the decision's
-- reason (which approval, rejection or revocation overwrites).
ALTER TABLE trusted_images ADD COLUMN justification TEXT;
CREATE INDEX trusted_images_state ON trusted_images (state);
