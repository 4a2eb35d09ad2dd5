-- A neutralized copy (a staging or test copy of a production database) never
-- declares nor pays for real: every company goes to the embedded sandbox,
-- without the Urssaf credentials (the embedded sandbox uses its own test
-- client) nor base URL override, and nothing is declared automatically.
UPDATE res_company
   SET urssaf_environment = 'embedded',
       urssaf_client_id = NULL,
       urssaf_client_secret = NULL,
       urssaf_base_url = NULL,
       urssaf_auto_declare = false;
